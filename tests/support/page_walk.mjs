// Plays walks through a story with one of the page's runtimes (engine/export/page/scenes.js's ScenesGame or
// ink_game.js's InkGame), in the browser: each walk's events as --trace records (scene and its heading,
// narration/dialogue, choices, choice, ended), for tests/engine/test_export_runtime.py to compare.

function records(steps, out) {
  for (const step of steps) {
    if (step.scene) {
      out.push({ event: "scene", scene: step.id, resumed: step.resumed });
      out.push({ event: "heading", title: step.scene.title });
    } else if (step.line) {
      const line = step.line;
      out.push({ event: line.narration ? "narration" : "dialogue", line_id: line.line, character_id: line.character,
                 speaker: line.speaker, text: line.text, directions: line.directions, qualifier: line.qualifier,
                 ...(line.tags ? { tags: line.tags } : {}) });
    } else if (step.choices) out.push({ event: "choices", options: step.choices.map((choice) => choice.label) });
    else if (step.ending !== undefined) out.push({ event: "ended", ending: step.ending });
  }
  return steps[steps.length - 1];
}

export function playWalks(Game, story, walks) {
  return walks.map((choices) => {
    const out = [];
    try {
      const game = new Game(story, null);
      let last = records(game.begin(), out);
      for (const number of choices) {
        if (!last.choices) break;
        const picked = last.choices[number - 1];
        out.push({ event: "choice", choice: number, label: picked.label, target: picked.target });
        last = records(game.choose(number - 1), out);
      }
    } catch (error) {
      out.push({ event: "error", text: String(error.message) });
    }
    return out;
  });
}

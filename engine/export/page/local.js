// The page's events when the story runs in the page (an exported game): story.json played by scenes.js (our
// format) or ink_game.js (ink, on inkjs), each line's audio a file of the folder, saves in this browser
// (stored.js: localStorage, or for the page's life where the browser blocks it). The same methods as server.js.
import { stored } from "./stored.js";

const SLOTS = ["auto", "1", "2", "3"];

export async function localSource() {
  const response = await fetch("story.json");
  if (!response.ok) throw new Error("This game's story.json is missing; export it again.");
  const story = await response.json();
  const Game = story.story_format === "ink" ? (await import("./ink_game.js")).InkGame
    : (await import("./scenes.js")).ScenesGame;
  document.getElementById("needs-server")?.remove();
  const { words_per_minute: perMinute, min_pause: least, directions } = story.settings;
  const key = (slot) => `voiced-if:${story.slug}:${slot}`;
  let game = null;
  let count = 0;
  let title = "";

  function line(statement) {
    const texts = story.audio[statement.line] || {};
    const words = statement.text.split(/\s+/).filter(Boolean).length;
    const event = { kind: "line", number: (count += 1), text: statement.text, sound: texts[statement.text] || null,
                    speaker: statement.narration ? null : statement.speaker,
                    seconds: Math.max(least, (words * 60) / perMinute) };
    if (directions === "show") {
      event.directions = statement.directions.map((direction) => `(${direction})`).join(" ");  // as core/directions.py's shown()
      event.qualifier = statement.qualifier;
    }
    return event;
  }

  function events(steps) {
    return steps.map((step) => {
      if (step.scene) {
        title = step.scene.title;
        return { kind: "scene", title: step.scene.title, resumed: step.resumed };
      }
      if (step.line) return line(step.line);
      if (step.choices) return { kind: "choices", options: step.choices.map((choice) => choice.label), sound: null };
      return { kind: "ending", title: step.ending };
    });
  }

  function read(slot) {
    try { return JSON.parse(stored.get(key(slot)) || "null"); } catch { return null; }
  }

  function write(slot) {
    const saved = { digest: story.digest, label: title, saved_at: new Date().toISOString(), state: game.save() };
    return stored.set(key(slot), JSON.stringify(saved));
  }

  function moved(steps) {
    const answer = { events: events(steps), notices: [] };
    if (game.over) stored.remove(key("auto"));
    else write("auto");  // the autosave follows the game, and is gone at its ending
    return answer;
  }

  return {
    async saves() {
      return SLOTS.map((slot) => ({ slot, saved: read(slot) })).filter(({ saved }) => saved)
        .map(({ slot, saved }) => ({ slot, label: saved.label, saved_at: saved.saved_at }));
    },
    async start(slot) {
      const saved = slot ? read(slot) : null;
      if (slot && !saved) throw new Error(`There is no save in slot ${slot}.`);
      if (saved && saved.digest !== story.digest) {
        throw new Error(`The save in slot ${slot} was made with another version of this story; start a new game.`);
      }
      game = new Game(story, saved ? saved.state : null);
      count = 0;
      const answer = moved(game.begin());
      if (!stored.kept) answer.notices.push("This browser keeps nothing for a game inside another site's page: saves "
        + "last until the page closes. Open the game in a tab of its own to keep them.");
      return answer;
    },
    async choose(number) { return moved(game.choose(number - 1)); },
    async save(slot) {
      if (!write(slot)) throw new Error("This browser refused to keep the save (its storage is full or blocked).");
    },
    soundUrl: (sound) => sound,
    skip() {},  // the file plays in the page: nothing is being made
    close() {},
  };
}

// Plays a story of our scene format in the page, from the data engine/export/story_data.py writes: the same
// steps as engine/formats/scenes/playthrough.py (scenes, lines, conditions, jumps, choices, endings).
// Values are integers and booleans; an unset variable reads as 0 (false), as in engine/core/expr.py.

const MAX_JUMPS_WITHOUT_CHOICE = 1000;
const COMPARE = {
  "==": (a, b) => a === b, "!=": (a, b) => a !== b, "<": (a, b) => a < b,
  "<=": (a, b) => a <= b, ">": (a, b) => a > b, ">=": (a, b) => a >= b,
};

const number = (value) => Number(value);  // true -> 1, false -> 0, as Python's int()

export function evaluate(node, variables) {
  const [kind, left, right] = node;
  if (kind === "const") return left;
  if (kind === "var") return Object.hasOwn(variables, left) ? variables[left] : 0;
  if (kind === "not") return !evaluate(left, variables);
  if (kind === "and") return Boolean(evaluate(left, variables)) && Boolean(evaluate(right, variables));
  if (kind === "or") return Boolean(evaluate(left, variables)) || Boolean(evaluate(right, variables));
  return COMPARE[kind](number(evaluate(left, variables)), number(evaluate(right, variables)));
}

function apply([name, op, value], variables) {
  const now = Object.hasOwn(variables, name) ? variables[name] : 0;
  if (op === "=") variables[name] = value;
  else variables[name] = op === "+=" ? number(now) + number(value) : number(now) - number(value);
}

const holds = (item, variables) => !item.when || Boolean(evaluate(item.when, variables));

// One game: next() gives {scene}, {line}, {choices} or {ending}; choose(index) answers {choices}.
export class ScenesGame {
  constructor(story, saved) {
    this.story = story;
    this.state = saved ? { ...saved, variables: { ...saved.variables } } : { scene: story.start, pc: 0, variables: {} };
    this.resumed = Boolean(saved);
    this.queue = [];
    this.offered = null;
    this.over = false;
    this.enterScene();
  }

  save() { return { scene: this.state.scene, pc: this.state.pc, variables: { ...this.state.variables } }; }

  // The steps up to the next choice or the ending.
  advance() {
    const steps = [];
    let jumps = 0;
    for (;;) {
      const scene = this.story.scenes[this.state.scene];
      const outcome = this.body(scene, steps);
      if (outcome && "end" in outcome) return this.finish(steps, outcome.end);
      if (outcome && "divert" in outcome) {
        jumps += 1;
        if (jumps > MAX_JUMPS_WITHOUT_CHOICE) throw new Error(`the story loops through '${this.state.scene}' without a choice`);
        this.enter(outcome.divert, steps);
        continue;
      }
      this.offered = scene.choices.filter((choice) => holds(choice, this.state.variables));
      if (!this.offered.length) throw new Error(`scene '${this.state.scene}' offers no choice in this state`);
      steps.push({ choices: this.offered.map((choice) => ({ label: choice.label, target: choice.target })) });
      return steps;
    }
  }

  choose(index) {
    const chosen = this.offered[index];
    this.offered = null;
    for (const effect of chosen.effects) apply(effect, this.state.variables);
    const steps = [];
    if (chosen.ending !== undefined) return this.finish(steps, chosen.ending);
    this.enter(chosen.target, steps);
    return steps.concat(this.advance());
  }

  body(scene, steps) {
    for (let pc = this.state.pc; pc < scene.body.length; pc += 1) {
      this.state.pc = pc;
      const statement = scene.body[pc];
      if (statement.set) statement.set.forEach((assignment) => apply(assignment, this.state.variables));
      else if (!holds(statement, this.state.variables)) continue;
      else if ("line" in statement) steps.push({ line: statement });
      else return statement;
    }
    this.state.pc = scene.body.length;
    return null;
  }

  enterScene() { this.queue.push({ scene: this.story.scenes[this.state.scene], id: this.state.scene, resumed: this.resumed }); }

  enter(sceneId, steps) {
    this.state = { ...this.state, scene: sceneId, pc: 0 };
    steps.push({ scene: this.story.scenes[sceneId], id: sceneId, resumed: false });
  }

  finish(steps, title) {
    this.over = true;
    steps.push({ ending: title });
    return steps;
  }

  // The first steps of the game: the scene it starts (or continues) in, then up to the first choice.
  begin() { return this.queue.splice(0).concat(this.advance()); }
}

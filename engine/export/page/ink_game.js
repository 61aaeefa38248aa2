// Plays an ink story in the page with inkjs (ink.mjs, the runtime Inky's web export ships), from the data
// engine/export/story_data.py writes: the same steps as engine/formats/ink/playthrough.py, each line placed,
// named and split as its LineMaker does (speaker tag or NAME: prefix, #id: tag or implicit id, directions).
import { Story } from "./ink.mjs";
import { sha256 } from "./sha256.js";

const PREFIX = /^\s*([^:\n]{1,40}?)\s*:\s+(\S[\s\S]*)$/;
const DIRECTION = /^\(\s*([^()]{1,60}?)\s*\)\s*/;
const QUALIFIED = /^(.*?\S)\s*\(\s*([^()]{1,30}?)\s*\)$/;
const OWN_TAGS = ["id", "speaker", "ending", "title"];
const DEFAULT_ENDING = "The End";

const words = (text) => text.split(/\s+/).filter(Boolean);

export function tagValue(tags, key) {
  let found = null;
  for (const tag of tags) {
    const colon = tag.indexOf(":");
    if (colon < 0) continue;
    const value = tag.slice(colon + 1).trim();
    if (tag.slice(0, colon).trim().toLowerCase() === key && value) found = value;
  }
  return found;
}

export function splitDirections(text) {
  const directions = [];
  let rest = text.trim();
  for (let match = DIRECTION.exec(rest); match; match = DIRECTION.exec(rest)) {
    directions.push(match[1]);
    rest = rest.slice(match[0].length);
  }
  return [directions, rest];
}

function splitQualifier(name) {
  const match = QUALIFIED.exec(name.trim());
  return match ? [match[1], match[2]] : [name.trim(), ""];
}

export function implicitId(container, speaker, text) {
  const said = (text.toLowerCase().match(/[a-z0-9]+/g) || []).slice(0, 4).join("-") || "line";
  return `${container}.${said}-${sha256(`${speaker}\n${text}`).slice(0, 6)}`;
}

class Book {
  constructor(data) {
    this.data = data;
    this.knots = new Set(data.knots);
    this.stitches = new Set(data.stitches);
  }

  containerOf(path) {
    const parts = (path || "").split(".").filter(Boolean);
    if (!parts.length || !this.knots.has(parts[0])) return parts.length && /^\d+$/.test(parts[0]) ? this.data.top : "";
    if (parts.length > 1 && this.stitches.has(`${parts[0]}.${parts[1]}`)) return `${parts[0]}.${parts[1]}`;
    return parts[0];
  }

  place(text, before, after) {
    const near = [this.containerOf(after), this.containerOf(before)].filter(Boolean);
    const found = this.fragmentContainers(text);
    for (const container of near) if (found.includes(container)) return container;
    if (found.length) return found[0];  // sorted by the export
    return near.length ? near[0] : this.data.top;
  }

  fragmentContainers(text) {
    const all = words(text);
    for (let count = all.length; count > 0; count -= 1) {
      const found = this.data.fragments[all.slice(0, count).join(" ")];
      if (found && found.length) return found;
    }
    return [];
  }
}

// One game: begin() and choose(index) give the steps up to the next choice or the ending, as scenes.js does.
export class InkGame {
  constructor(story, saved) {
    this.story = story;
    this.book = new Book(story);
    this.runtime = new Story(story.ink);
    this.runtime.allowExternalFunctionFallbacks = true;
    this.scene = null;
    this.ending = null;
    this.heading = "";
    this.over = false;
    this.resumed = Boolean(saved);
    if (saved) {
      this.runtime.state.LoadJson(saved.state);
      this.scene = saved.scene || story.top;
      this.ending = saved.ending;
    }
    this.position = this.runtime.state.toJson();
  }

  save() { return { scene: this.scene, ending: this.ending, state: this.position }; }

  begin() {
    const steps = this.resumed ? [this.sceneStep(this.scene || this.story.top, true)] : [];
    return steps.concat(this.advance());
  }

  choose(index) {
    this.runtime.ChooseChoiceIndex(index);
    return this.advance();
  }

  advance() {
    const steps = [];
    while (this.runtime.canContinue) {
      const [line, tags] = this.read();
      this.ending = tagValue(tags, "ending") || this.ending;
      if (!line) continue;
      if (line.scene !== this.scene) {
        this.scene = line.scene;
        steps.push(this.sceneStep(line.scene, false));
      }
      steps.push({ line });
    }
    this.position = this.runtime.state.toJson();
    const labels = this.runtime.currentChoices.map((choice) => words(choice.text).join(" "));
    if (!labels.length) {
      this.over = true;
      steps.push({ ending: this.ending || DEFAULT_ENDING });
      return steps;
    }
    if (this.scene === null) {  // choices before any line
      this.scene = this.story.top;
      steps.push({ scene: { title: this.story.titles[this.scene] || "" }, id: this.scene, resumed: false });
    }
    steps.push({ choices: labels.map((label) => ({ label, target: "" })) });
    return steps;
  }

  sceneStep(container, resumed) {
    const knot = container.split(".")[0] || this.story.top;
    let title = this.story.titles[knot] || "";
    if (title && title === this.heading) title = "";  // back in the knot whose heading is the last one shown
    else this.heading = title || this.heading;
    return { scene: { title }, id: knot, resumed };
  }

  read() {
    const before = this.runtime.state.currentPathString;
    const raw = this.runtime.Continue();
    const tags = [...this.runtime.currentTags];
    const after = this.runtime.state.currentPathString;
    const text = words(raw).join(" ");
    if (!text) return [null, tags];
    const container = this.book.place(text, before, after);
    const [character, qualifier, spoken] = this.speaker(text, tags);
    const id = tagValue(tags, "id") || implicitId(container, character, spoken);
    const [directions, said] = splitDirections(spoken);
    const kept = tags.map((tag) => tag.trim()).filter((tag) => !OWN_TAGS.includes(tag.split(":")[0].trim().toLowerCase()));
    return [{ line: id, scene: container.split(".")[0], character, speaker: this.story.speakers[character] || character, text: said,
              narration: character === this.story.narrator, directions, qualifier, tags: kept }, tags];
  }

  speaker(text, tags) {
    const tagged = tagValue(tags, "speaker");
    const match = this.story.speaker_prefixes ? PREFIX.exec(text) : null;
    const [name, qualifier] = match ? splitQualifier(match[1]) : ["", ""];
    const named = match ? this.story.names[name.toLowerCase()] : undefined;
    if (match && named && (tagged === null || tagged === named)) return [named, qualifier, match[2]];
    return [tagged || this.story.narrator, "", text];
  }
}

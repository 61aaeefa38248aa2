// The page of `engine serve` (an ES module): shows each line as its voice plays, then the choices; keys do
// everything. Every URL is relative (the server may sit behind a proxy).
import { savePanel } from "./saves.js";
import { serverSource } from "./server.js";
import { stored } from "./stored.js";
import { lineAudio } from "./voice.js";

const $ = (id) => document.getElementById(id);
const RATES = { min: 0.5, max: 4, step: 0.25 };
// What was played, for a test that asks for it by setting window.voiceEvents = [] before the page loads
// (players get none); the newest KEPT_EVENTS only.
const voiceEvents = Array.isArray(window.voiceEvents) ? window.voiceEvents : null;
const KEPT_EVENTS = 200;
const state = {
  game: false,  // a game is open
  queue: [], current: null, last: null, choices: null, choiceAudio: null,
  rate: Number(stored.get("rate")) || 1,
  muted: stored.get("muted") === "1",
  speakChoices: stored.get("speakChoices") === "1",
  browserSpeech: stored.get("browserSpeech") === "1",  // lines without audio in the browser's voice
};

// engine serve's API, or the story running in the page (an exported game: engine export --web)
const source = document.body.dataset.source === "local" ? await (await import("./local.js")).localSource()
  : serverSource();

function say(text) { $("status").textContent = text; }

const panel = savePanel(source, say);

// The server's sentence for the player (voices still loading...): apart from the story, the latest only.
function tell(notices) {
  if (!notices || !notices.length) return;
  const notice = $("player-notice");
  notice.textContent = notices[notices.length - 1];
  notice.hidden = false;
}

function add(tag, className, parts) {
  const element = document.createElement(tag);
  element.className = className;
  for (const [kind, text] of parts) {
    if (!text) continue;
    const span = document.createElement("span");
    span.className = kind;
    span.textContent = text;
    element.append(span, " ");
  }
  $("log").append(element);
  element.scrollIntoView({ block: "nearest" });
  return element;
}

// --- starting ----------------------------------------------------------------------------
async function listSaves() {
  const saves = await source.saves();
  const list = $("start-buttons");
  list.querySelectorAll(".save").forEach((item) => item.remove());
  for (const save of [...saves].reverse()) {  // prepended: Continue first, then slots 1 to 3
    const item = document.createElement("li");
    item.className = "save";
    const button = document.createElement("button");
    button.type = "button";
    const what = save.slot === "auto" ? "Continue" : `Load slot ${save.slot}`;
    button.textContent = `${what}: ${save.label}`;
    button.addEventListener("click", () => start(save.slot));
    item.append(button);
    list.prepend(item);
  }
  return saves;
}

async function start(slot) {
  try {
    const data = await source.start(slot);
    state.game = true;
    state.queue = [];
    $("log").replaceChildren();
    $("start").hidden = true;
    $("ending-area").hidden = true;
    $("story").hidden = false;
    receive(data);
  } catch (error) { say(error.message); }
}

function receive(data) {
  tell(data.notices);
  state.queue.push(...data.events);
  next();
}

// --- lines, one after another --------------------------------------------------------------
function next() {
  if (state.current) return;
  const event = state.queue.shift();
  if (!event) return;
  if (event.kind === "scene") {
    add("h3", "scene", [["scene-title", event.title]]);
    next();
  } else if (event.kind === "line" && event.replay) {
    play(event);
  } else if (event.kind === "line") {
    add("p", "line", [["speaker", event.speaker ? `${event.speaker}${event.qualifier ? ` (${event.qualifier})` : ""}:` : ""],
                      ["direction", event.directions], ["text", event.text]]);
    play(event);
  } else if (event.kind === "choices") {
    offer(event);
  } else if (event.kind === "ending") {
    add("p", "ending", [["ending-title", `The end: ${event.title}`]]);
    $("ending-area").hidden = false;
    $("play-again").focus();
    record(null, "ending");
  }
}

function voice(sound) { return lineAudio(source.soundUrl(sound), state.rate, state.muted); }

function play(event) {
  const current = { event, audio: null, timer: null };
  state.current = current;
  const finish = (how) => {
    if (state.current !== current) return;
    clearTimeout(current.timer);
    record(event.number, how);
    state.current = null;
    next();
  };
  current.finish = finish;
  const reading = () => { current.timer = setTimeout(() => finish("read"), event.seconds * 1000 / state.rate); };
  if (!event.sound && !state.muted && state.browserSpeech && event.text && window.speechSynthesis) {
    speak(current, event, reading);
    return;
  }
  if (!event.sound || state.muted) { reading(); return; }
  state.last = event;
  const audio = voice(event.sound);
  current.audio = audio;
  audio.addEventListener("ended", () => finish(event.replay ? "replayed" : "ended"));
  const failed = () => { if (state.current === current && !current.timer) { record(event.number, "error"); reading(); } };
  audio.addEventListener("error", failed);
  audio.addEventListener("voicefailed", failed);
  audio.play().catch(() => { if (state.current === current && !current.timer) reading(); });
}

// A line with no audio of its own, in the browser's speech (an option, off by default); read if it fails.
function speak(current, event, reading) {
  const utterance = new SpeechSynthesisUtterance(event.text);
  utterance.rate = state.rate;
  utterance.addEventListener("end", () => current.finish("spoken"));
  utterance.addEventListener("error", () => { if (state.current === current && !current.timer) reading(); });
  current.utterance = utterance;
  speechSynthesis.speak(utterance);
}

function record(line, event) {
  if (!voiceEvents) return;
  voiceEvents.push({ line, event, rate: state.rate });
  if (voiceEvents.length > KEPT_EVENTS) voiceEvents.splice(0, voiceEvents.length - KEPT_EVENTS);
}

function skip() {
  const current = state.current;
  if (!current) return false;
  if (current.utterance) speechSynthesis.cancel();
  if (current.audio) {
    current.audio.stop();  // drops the connection
    if (!current.event.replay) source.skip(current.event.sound);
  }
  current.finish("skipped");
  return true;
}

// The last voiced line again, played as a line is (Enter skips it, rate and mute apply), after the line
// playing now; never two replays at once.
function replay() {
  const last = state.last;
  if (!last) { say("No line to replay yet."); return; }
  if (state.muted) { say("Voices are muted; M turns them on."); return; }
  const current = state.current;
  if (current && current.audio && current.event.number === last.number) {
    current.audio.currentTime = 0;
  } else if (!state.queue.some((event) => event.replay)) {
    state.queue.unshift({ ...last, replay: true });
    next();
  }
  say("Replaying the last line.");
}

// --- choices -----------------------------------------------------------------------------
function offer(event) {
  state.choices = event.options;
  const list = $("choices");
  list.replaceChildren();
  event.options.forEach((label, index) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${index + 1}. ${label}`;
    button.addEventListener("click", () => choose(index + 1));
    item.append(button);
    list.append(item);
  });
  $("choices-area").hidden = false;
  list.querySelector("button").focus();
  record(null, "choices");
  if (state.speakChoices && !state.muted && event.sound) {
    state.choiceAudio = voice(event.sound);
    state.choiceAudio.addEventListener("ended", () => record(event.sound, "ended"));
    state.choiceAudio.play().catch(() => {});
  }
}

async function choose(number) {
  if (!state.choices || number > state.choices.length) return;
  const label = state.choices[number - 1];
  state.choices = null;
  if (state.choiceAudio) { state.choiceAudio.stop(); state.choiceAudio = null; }
  $("choices-area").hidden = true;
  add("p", "chosen", [["chosen-text", `You chose: ${label}`]]);
  try {
    receive(await source.choose(number));
  } catch (error) { say(error.message); }
}

// --- settings and keys ---------------------------------------------------------------------
function setRate(rate) {
  state.rate = Math.min(RATES.max, Math.max(RATES.min, Math.round(rate * 4) / 4));
  stored.set("rate", String(state.rate));
  $("rate").textContent = `${state.rate}×`;
  for (const audio of [state.current && state.current.audio, state.choiceAudio]) {
    if (audio) { audio.defaultPlaybackRate = state.rate; audio.playbackRate = state.rate; }
  }
  record(null, "rate");
}

function setMuted(muted) {
  state.muted = muted;
  stored.set("muted", muted ? "1" : "0");
  $("mute").checked = muted;
  for (const audio of [state.current && state.current.audio, state.choiceAudio]) if (audio) audio.muted = muted;
  say(muted ? "Voices muted." : "Voices on.");
}

function setBrowserSpeech(on) {
  state.browserSpeech = on;
  stored.set("browserSpeech", on ? "1" : "0");
  $("browser-speech").checked = on;
  say(on ? "Lines without a voice will be read by the browser." : "Lines without a voice will be shown only.");
}

function setSpeakChoices(on) {
  state.speakChoices = on;
  stored.set("speakChoices", on ? "1" : "0");
  $("speak-choices").checked = on;
  say(on ? "Choices will be spoken." : "Choices will not be spoken.");
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  if (panel.open) {
    if (key === "Escape") panel.hide();
    else if (["1", "2", "3"].includes(key)) panel.save(key);
    else return;
    event.preventDefault();
    return;
  }
  const onControl = ["BUTTON", "INPUT"].includes(event.target.tagName);
  if ((key === "Enter" || key === " ") && !onControl && skip()) event.preventDefault();
  else if ((key === "Enter" || key === " ") && onControl && state.current) { skip(); event.preventDefault(); }
  else if (/^[1-9]$/.test(key) && state.choices) { choose(Number(key)); event.preventDefault(); }
  else if (key === "r" || key === "R") replay();
  else if (key === "+" || key === "=") setRate(state.rate + RATES.step);
  else if (key === "-" || key === "_") setRate(state.rate - RATES.step);
  else if (key === "m" || key === "M") setMuted(!state.muted);
  else if (key === "c" || key === "C") setSpeakChoices(!state.speakChoices);
  else if ((key === "s" || key === "S") && state.game) { panel.show(); event.preventDefault(); }
});

window.addEventListener("pagehide", (event) => {
  // kept in the back/forward cache, the page may come back as it was: its game stays (idle ones close anyway)
  if (state.game && !event.persisted) source.close();
});

$("new-game").addEventListener("click", () => start(null));
$("play-again").addEventListener("click", async () => { await listSaves(); start(null); });
$("save-cancel").addEventListener("click", () => panel.hide());
$("mute").addEventListener("change", (event) => setMuted(event.target.checked));
$("speak-choices").addEventListener("change", (event) => setSpeakChoices(event.target.checked));
$("mute").checked = state.muted;
$("speak-choices").checked = state.speakChoices;
$("browser-speech").addEventListener("change", (event) => setBrowserSpeech(event.target.checked));
$("browser-speech").checked = state.browserSpeech;
$("rate").textContent = `${state.rate}×`;
listSaves().then(() => $("start-buttons").querySelector("button").focus()).catch((error) => say(error.message));

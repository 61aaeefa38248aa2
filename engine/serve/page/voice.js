// The audio of the lines for the page (play.js): one audio element per line, stopped with audio.stop().
"use strict";

// A line's MP3. Where Media Source Extensions play MP3 (Chrome, Edge, Firefox, Safari on the desktop), the
// bytes are fed in as they arrive and a line still being made starts at once; elsewhere (older iOS) the
// audio element fetches it itself, which waits for a few seconds of it first.
const STREAMS = Boolean(window.MediaSource && MediaSource.isTypeSupported("audio/mpeg"));

function lineAudio(url, rate, muted) {
  const audio = new Audio();
  audio.preservesPitch = true;
  audio.defaultPlaybackRate = rate;
  audio.playbackRate = rate;
  audio.muted = muted;
  const controller = new AbortController();
  audio.stop = () => { controller.abort(); audio.pause(); };
  if (!STREAMS) {
    audio.src = url;
    return audio;
  }
  const source = new MediaSource();
  audio.src = URL.createObjectURL(source);
  source.addEventListener("sourceopen", () => feed(source, url, controller.signal, audio), { once: true });
  return audio;
}

async function feed(source, url, signal, audio) {
  try {
    const response = await fetch(url, { signal, credentials: "same-origin" });
    if (response.status !== 200) throw new Error(`no audio (${response.status})`);
    const buffer = source.addSourceBuffer("audio/mpeg");
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer.appendBuffer(value);
      await new Promise((resolve) => buffer.addEventListener("updateend", resolve, { once: true }));
    }
    source.endOfStream();
  } catch (error) {
    if (!signal.aborted) audio.dispatchEvent(new Event("voicefailed"));
  }
}

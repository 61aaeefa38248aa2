// The audio of the lines for the page (play.js): one audio element per line, stopped with audio.stop().

// A line's MP3. Where Media Source Extensions play MP3 (Chrome, Edge, Firefox, Safari on the desktop), the
// bytes are fed in as they arrive and a line still being made starts at once; elsewhere (older iOS) the
// audio element fetches it itself, which waits for a few seconds of it first.
const STREAMS = Boolean(window.MediaSource && MediaSource.isTypeSupported("audio/mpeg"));

export function lineAudio(url, rate, muted) {
  const audio = new Audio();
  audio.preservesPitch = true;
  audio.defaultPlaybackRate = rate;
  audio.playbackRate = rate;
  audio.muted = muted;
  const controller = new AbortController();
  let address = null;
  audio.stop = () => { controller.abort(); audio.pause(); if (address) URL.revokeObjectURL(address); };
  if (!STREAMS) {
    audio.src = url;
    return audio;
  }
  const source = new MediaSource();
  address = URL.createObjectURL(source);
  audio.src = address;
  source.addEventListener("sourceopen", () => {
    URL.revokeObjectURL(address);  // attached: the address is no longer needed, and would keep the source alive
    feed(source, url, controller.signal, audio);
  }, { once: true });
  return audio;
}

// Resolves when the buffer has taken the piece; rejects when it failed (or the line was stopped), so a
// broken piece never leaves the feed waiting for ever.
function appended(buffer, signal) {
  return new Promise((resolve, reject) => {
    const done = () => { buffer.removeEventListener("error", failed); signal.removeEventListener("abort", failed); resolve(); };
    const failed = () => { buffer.removeEventListener("updateend", done); reject(new Error("the audio could not be decoded")); };
    buffer.addEventListener("updateend", done, { once: true });
    buffer.addEventListener("error", failed, { once: true });
    signal.addEventListener("abort", failed, { once: true });
  });
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
      const taken = appended(buffer, signal);
      buffer.appendBuffer(value);
      await taken;
    }
    source.endOfStream();
  } catch (error) {
    if (!signal.aborted) audio.dispatchEvent(new Event("voicefailed"));
  }
}

// What the page keeps in the browser (settings; an exported game's saves): localStorage, or, where the browser
// blocks it (a game inside another site's page, as itch.io shows one, in Safari), a stand-in for the page's life.

function open() {
  try {
    window.localStorage.getItem("voiced-if");
    return window.localStorage;
  } catch {
    return null;
  }
}

const real = open();
const memory = new Map();

export const stored = {
  kept: real !== null,  // false: nothing outlives the page
  get(key) {
    try { return real ? real.getItem(key) : (memory.get(key) ?? null); } catch { return null; }
  },
  set(key, value) {
    try {
      if (real) real.setItem(key, value);
      else memory.set(key, value);
      return true;
    } catch {
      return false;  // full, or refused
    }
  },
  remove(key) {
    try { if (real) real.removeItem(key); else memory.delete(key); } catch { /* nothing to drop */ }
  },
};

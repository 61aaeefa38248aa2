// Where the page's events come from when `engine serve` plays the story: its HTTP API (docs/serve.md).
// Another source (the story running in the page) has the same methods.

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `The server answered ${response.status}.`);
  return data;
}

export function serverSource() {
  let game = null;
  const lines = (sound) => `api/games/${game}/lines/${sound}`;
  return {
    async saves() { return (await api("GET", "api/saves")).saves; },  // [{slot, label, saved_at}]
    async start(slot) {  // {events, notices}: a new game, or the one saved in `slot`
      const data = await api("POST", "api/games", { slot: slot || null });
      game = data.game;
      return data;
    },
    choose(number) { return api("POST", `api/games/${game}/choices`, { number }); },
    async save(slot) { await api("POST", `api/games/${game}/saves/${slot}`); },
    soundUrl: lines,
    skip(sound) { api("POST", `${lines(sound)}/skip`).catch(() => {}); },  // the server stops making it
    close() { if (game) navigator.sendBeacon(`api/games/${game}/close`); },
  };
}

// The save panel (S): slots 1 to 3, each with what it holds; Escape goes back to the story.
const $ = (id) => document.getElementById(id);

export function savePanel(source, say) {
  const panel = {
    open: false,
    async show() {
      if (panel.open) return;
      panel.open = true;  // at once: a slot key pressed right after S goes to the panel, not to the choices
      const list = $("save-slots");
      list.replaceChildren();
      const buttons = {};
      for (const slot of ["1", "2", "3"]) {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = `Slot ${slot}`;
        button.addEventListener("click", () => panel.save(slot));
        buttons[slot] = button;
        item.append(button);
        list.append(item);
      }
      $("save-panel").hidden = false;
      buttons["1"].focus();
      try {
        const saves = await source.saves();
        for (const [slot, button] of Object.entries(buttons)) {
          const found = saves.find((save) => save.slot === slot);
          button.textContent = `Slot ${slot}: ${found ? found.label : "empty"}`;
        }
      } catch (error) { say(error.message); }
    },
    hide() {
      panel.open = false;
      $("save-panel").hidden = true;
      const first = $("choices").querySelector("button");
      if (first && !$("choices-area").hidden) first.focus();
    },
    async save(slot) {
      try {
        await source.save(slot);
        say(`Saved in slot ${slot}.`);
      } catch (error) { say(error.message); }
      panel.hide();
    },
  };
  return panel;
}

// "Copy link" beside a new preview link. Without JavaScript the read-only field still selects and copies.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy-target]")) {
    const field = document.getElementById(button.dataset.copyTarget);
    if (!field || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select the link and copy it";
      }
    });
  }
  const field = document.getElementById("new-preview-link-url");
  if (field) field.addEventListener("focus", () => field.select());
});

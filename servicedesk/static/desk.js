// Progressive enhancements only: every page works without this file.
"use strict";
document.addEventListener("submit", (event) => {
  // <form data-confirm="..."> asks before sending an action that is hard to undo.
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

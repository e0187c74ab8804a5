// Progressive enhancements only: every page works without this file.
"use strict";
document.addEventListener("submit", (event) => {
  // <form data-confirm="..."> asks before sending an action that is hard to undo.
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
// <button data-print> (the dispatch sheet): shown only where the script runs, prints the page.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.classList.remove("d-none");
  button.addEventListener("click", () => window.print());
});
// <select multiple data-filterable> (the companies of a visit): a box above it narrows the options
// shown to those containing what is typed; chosen options stay shown.
document.querySelectorAll("select[data-filterable]").forEach((select) => {
  const box = document.createElement("input");
  box.type = "search";
  box.className = "form-control form-control-sm mb-1 company-filter";
  box.placeholder = select.dataset.filterPlaceholder || "";
  box.setAttribute("aria-label", select.dataset.filterPlaceholder || "");
  box.addEventListener("input", () => {
    const wanted = box.value.trim().toLowerCase();
    Array.from(select.options).forEach((option) => {
      option.hidden = Boolean(wanted) && !option.selected && !option.text.toLowerCase().includes(wanted);
    });
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();  // narrowing the list, not saving the form
    }
  });
  select.parentNode.insertBefore(box, select);
});
// The visit form: while the visit has exactly one company chosen, each demand whose company is not
// chosen yet takes that one.
document.querySelectorAll("select[data-demand-companies]").forEach((visitCompanies) => {
  visitCompanies.addEventListener("change", () => {
    const chosen = Array.from(visitCompanies.selectedOptions).map((option) => option.value);
    if (chosen.length !== 1) {
      return;
    }
    visitCompanies.form.querySelectorAll("select[name$='-company_id']").forEach((select) => {
      if (!select.value) {
        select.value = chosen[0];
      }
    });
  });
});

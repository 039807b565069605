// Sightline dashboard: small enhancements over server-rendered pages (everything works without
// them). No inline scripts anywhere: the Content-Security-Policy forbids them.
"use strict";

document.documentElement.classList.add("js");

function on(selector, event, handler) {
  document.addEventListener(event, (e) => {
    const target = e.target instanceof Element ? e.target.closest(selector) : null;
    if (target) handler(e, target);
  });
}

// A <select data-autosubmit> submits its form when changed (the project switcher).
on("select[data-autosubmit]", "change", (_e, select) => select.form && select.form.submit());

// "Select all on this page": a checkbox with data-select-all="<name>" checks every
// checkbox of that name in its form.
on("input[data-select-all]", "change", (_e, box) => {
  const form = box.form || document;
  form.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`)
    .forEach((other) => { other.checked = box.checked; });
  updateSelection(form);
});
on("input[type=checkbox][data-selectable]", "change", (_e, box) => updateSelection(box.form || document));

function updateSelection(form) {
  const boxes = form.querySelectorAll("input[type=checkbox][data-selectable]");
  const chosen = Array.from(boxes).filter((b) => b.checked).length;
  form.querySelectorAll("[data-selection-count]").forEach((el) => { el.textContent = String(chosen); });
  form.querySelectorAll("[data-needs-selection]").forEach((el) => { el.disabled = chosen === 0; });
  const all = form.querySelector("input[data-select-all]");
  if (all) { all.checked = chosen > 0 && chosen === boxes.length; all.indeterminate = chosen > 0 && chosen < boxes.length; }
}
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-selection]").forEach(updateSelection);
});

// Span tree: a flat list of role=treeitem rows with aria-level. Toggle collapses a row's
// descendants; arrow keys move, Left/Right collapse/expand, Enter/Space select.
function treeRows(tree) { return Array.from(tree.querySelectorAll("[role=treeitem]")); }
function descendants(rows, index) {
  const level = Number(rows[index].getAttribute("aria-level"));
  const out = [];
  for (let i = index + 1; i < rows.length && Number(rows[i].getAttribute("aria-level")) > level; i++) out.push(rows[i]);
  return out;
}
function setExpanded(tree, row, expanded) {
  if (!row.hasAttribute("aria-expanded")) return;
  row.setAttribute("aria-expanded", String(expanded));
  const rows = treeRows(tree);
  const under = descendants(rows, rows.indexOf(row));
  if (!expanded) { under.forEach((r) => { r.hidden = true; }); return; }
  // Show children, and their children only where those are expanded.
  let skipBelow = null;
  under.forEach((r) => {
    const level = Number(r.getAttribute("aria-level"));
    if (skipBelow !== null && level > skipBelow) { r.hidden = true; return; }
    skipBelow = null;
    r.hidden = false;
    if (r.getAttribute("aria-expanded") === "false") skipBelow = level;
  });
}
function focusRow(tree, row) {
  treeRows(tree).forEach((r) => { r.tabIndex = r === row ? 0 : -1; });
  row.focus();
}
function selectRow(tree, row) {
  treeRows(tree).forEach((r) => r.setAttribute("aria-selected", String(r === row)));
  const link = row.querySelector("a[data-span-link]");
  if (link) link.click();
}
on("[role=tree] .toggle", "click", (e, button) => {
  e.preventDefault();
  const row = button.closest("[role=treeitem]");
  const tree = button.closest("[role=tree]");
  setExpanded(tree, row, row.getAttribute("aria-expanded") !== "true");
});
on("[role=tree] a[data-span-link]", "click", (_e, link) => {
  const tree = link.closest("[role=tree]");
  const row = link.closest("[role=treeitem]");
  treeRows(tree).forEach((r) => r.setAttribute("aria-selected", String(r === row)));
  treeRows(tree).forEach((r) => { r.tabIndex = r === row ? 0 : -1; });
});
on("[role=tree]", "keydown", (e, tree) => {
  const row = e.target instanceof Element ? e.target.closest("[role=treeitem]") : null;
  if (!row) return;
  const visible = treeRows(tree).filter((r) => !r.hidden);
  const index = visible.indexOf(row);
  const level = Number(row.getAttribute("aria-level"));
  switch (e.key) {
    case "ArrowDown": if (index < visible.length - 1) focusRow(tree, visible[index + 1]); break;
    case "ArrowUp": if (index > 0) focusRow(tree, visible[index - 1]); break;
    case "Home": focusRow(tree, visible[0]); break;
    case "End": focusRow(tree, visible[visible.length - 1]); break;
    case "ArrowRight":
      if (row.getAttribute("aria-expanded") === "false") setExpanded(tree, row, true);
      else if (index < visible.length - 1 && Number(visible[index + 1].getAttribute("aria-level")) > level) focusRow(tree, visible[index + 1]);
      break;
    case "ArrowLeft":
      if (row.getAttribute("aria-expanded") === "true") setExpanded(tree, row, false);
      else {
        for (let i = index - 1; i >= 0; i--) {
          if (Number(visible[i].getAttribute("aria-level")) < level) { focusRow(tree, visible[i]); break; }
        }
      }
      break;
    case "Enter": case " ": selectRow(tree, row); break;
    default: return;
  }
  e.preventDefault();
});

// ---- Monitors and Settings (pages 5 and 7) ----
// The monitor form: only the chosen target type's metric and filter groups are shown, and
// the others are disabled so they are not submitted; the cron field only with "Custom".
function syncGroups(form) {
  const target = form.querySelector("select[data-controls-groups]");
  if (target) {
    form.querySelectorAll("fieldset[data-group]").forEach((group) => {
      const active = group.dataset.group === target.value;
      group.toggleAttribute("data-inactive", !active);
      group.disabled = !active;
    });
  }
  const kind = form.querySelector("select[data-controls-cron]");
  const cron = form.querySelector("[data-cron-field]");
  if (kind && cron) cron.toggleAttribute("data-inactive", kind.value !== "cron");
}
on("select[data-controls-groups], select[data-controls-cron]", "change", (_e, select) => {
  if (select.form) syncGroups(select.form);
});
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form.monitor-form").forEach(syncGroups);
});
// A newly created API key: focusing its field selects it, ready to copy.
on("input[data-select-on-focus]", "focusin", (_e, input) => input.select());

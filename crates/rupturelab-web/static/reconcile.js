// RuptureLab reconciliation page: the coder checkboxes fill the `coders`
// field of the filter form (comma-separated). Everything else on the page
// works without JavaScript.
const form = document.getElementById("choose");
if (form) {
  form.addEventListener("submit", () => {
    const names = [...form.querySelectorAll("input.coder:checked")].map((b) => b.value);
    document.getElementById("coders-field").value = names.join(",");
  });
}

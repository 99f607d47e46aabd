// Members page: a role change saves itself; removing someone asks first.
// Without this script the forms still work (with their Save buttons).
(function () {
  "use strict";

  const table = document.getElementById("members");
  if (!table) return;

  table.querySelectorAll("form.role-form").forEach((form) => {
    form.querySelector(".save-role").hidden = true;
    form.querySelector("select").addEventListener("change", () => form.requestSubmit());
  });

  table.querySelectorAll("form.remove-form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const name = form.elements.username.value;
      if (!window.confirm("Remove " + name + " from this project? Their labels stay.")) {
        event.preventDefault();
      }
    });
  });
})();

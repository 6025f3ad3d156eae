"use strict";
// The API's browsable reference (Swagger UI from drf-spectacular-sidecar, served from our own static
// files): started from this file rather than an inline script, which the site's CSP refuses.
(() => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No deep links: Swagger UI puts each operation's link inside the button that opens it, a
    // control within a control that screen readers and keyboards cannot reach (axe: nested-interactive).
    deepLinking: false,
    // No badge from validator.swagger.io: the page loads nothing from elsewhere.
    validatorUrl: null,
  });
})();

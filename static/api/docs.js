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
    deepLinking: true,
    // No badge from validator.swagger.io: the page loads nothing from elsewhere.
    validatorUrl: null,
  });
})();

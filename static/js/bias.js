"use strict";
/*
 * Bias of the chosen sources, kept live in the article form as outlets are added, changed or
 * removed and as the rating method changes. The server draws the first state
 * (articles/admin/bias.py); without this script that bar stays, showing the sources as loaded.
 *
 * voices and splitFromLeans repeat articles/bias.py exactly (one voice per outlet, wire copies left
 * out; largest remainder, ties go left, center, right) and the texts repeat articles/admin/bias.py;
 * tests/admin/test_bias.py runs both through node.
 * Leans come from the page (chosen outlets, #sources-bias-leans) and from the autocomplete results
 * (`lean` beside `id` and `text`), never from a request per outlet.
 */
(function () {
    const SIDES = [
        ["left", ["left", "lean_left"]],
        ["center", ["center"]],
        ["right", ["right", "lean_right"]],
    ];
    const WORDS = { left: "Left", center: "Center", right: "Right" };
    const SEPARATOR = " \u00b7 ";

    function sideOf(lean) {
        const found = SIDES.find(([, leans]) => leans.includes(lean));
        return found ? found[0] : null;
    }

    function largestRemainder(counts, total = 100) {
        const whole = counts.reduce((a, b) => a + b, 0);
        const quotas = counts.map((c) => c * total);
        // Whole-number arithmetic, as in Python: no float rounding can reorder the remainders.
        const shares = quotas.map((q) => (q - (q % whole)) / whole);
        const missing = total - shares.reduce((a, b) => a + b, 0);
        const order = counts
            .map((_, i) => i)
            .sort((a, b) => (quotas[b] % whole) - (quotas[a] % whole) || a - b);
        for (const i of order.slice(0, missing)) {
            shares[i] += 1;
        }
        return shares;
    }

    // rows: [outlet, lean, wireCopy]. An outlet cited twice counts once; a wire copy not at all.
    function voices(rows) {
        const leans = new Map();
        for (const [outlet, lean, wireCopy] of rows) {
            if (!wireCopy && !leans.has(outlet)) {
                leans.set(outlet, lean);
            }
        }
        return [...leans.values()];
    }

    function splitFromLeans(leans) {
        const counts = { left: 0, center: 0, right: 0 };
        let unrated = 0;
        for (const lean of leans) {
            const side = sideOf(lean);
            if (side) {
                counts[side] += 1;
            } else {
                unrated += 1;
            }
        }
        if (counts.left + counts.center + counts.right === 0) {
            return null;
        }
        const [left, center, right] = largestRemainder([counts.left, counts.center, counts.right]);
        return { left, center, right, unrated };
    }

    function plural(count, one, many) {
        return `${count} ${count === 1 ? one : many}`;
    }

    function figuresText(split, total, copies = 0) {
        if (total === 0 && copies) {
            return "Only wire copies chosen: add the originals they copy.";
        }
        if (total === 0) {
            return "No sources chosen yet.";
        }
        if (split === null) {
            return "None of the chosen sources has a rated lean.";
        }
        const parts = SIDES.map(([side]) => `${WORDS[side]} ${split[side]}%`).join(SEPARATOR);
        return `${parts}, from ${plural(total - split.unrated, "rated source", "rated sources")}`;
    }

    function unratedText(unrated) {
        return unrated ? `${plural(unrated, "source", "sources")} unrated` : "";
    }

    function methodText(method, numbers) {
        if (method === "editorial") {
            const parts = SIDES.map(([side], i) => `${WORDS[side]} ${numbers[i]}%`).join(SEPARATOR);
            return `The published bar uses your editorial numbers: ${parts}.`;
        }
        if (method === "incomplete") {
            return "Editorial rating chosen: type left, center and right (they must add up to 100).";
        }
        return "The published bar is computed from these sources.";
    }

    if (typeof module === "object" && module.exports) {
        module.exports = { largestRemainder, voices, splitFromLeans, figuresText, unratedText, methodText };
        return;
    }

    function start() {
        const panel = document.getElementById("sources-bias");
        const leansScript = document.getElementById("sources-bias-leans");
        if (!panel || !leansScript) {
            return;
        }
        const leans = JSON.parse(leansScript.textContent);
        const $ = window.django && window.django.jQuery;

        function field(name) {
            return document.querySelector(`[name="${name}"]`);
        }

        function isChecked(name) {
            const box = field(name);
            return Boolean(box && box.checked);
        }

        function leanOf(select) {
            const id = select.value;
            if (!(id in leans) && $ && $(select).data("select2")) {
                for (const item of $(select).select2("data")) {
                    if (String(item.id) === id && item.lean) {
                        leans[id] = item.lean;
                    }
                }
            }
            return leans[id]; // unknown counts as unrated, as in split_from_leans
        }

        // [outlet, lean, wireCopy] of each row with an outlet, minus rows ticked for deletion.
        function chosenRows() {
            const chosen = [];
            for (const select of document.querySelectorAll('select[name^="article_sources-"]')) {
                if (!/^article_sources-\d+-source$/.test(select.name) || !select.value) {
                    continue;
                }
                if (isChecked(select.name.replace(/-source$/, "-DELETE"))) {
                    continue;
                }
                const wireCopy = isChecked(select.name.replace(/-source$/, "-wire_copy"));
                chosen.push([select.value, leanOf(select), wireCopy]);
            }
            return chosen;
        }

        function ratingMethod() {
            const radios = [...document.querySelectorAll('input[name="bias_rating-0-method"]')];
            if (!radios.length || isChecked("bias_rating-0-DELETE")) {
                return ["computed", null];
            }
            const checked = radios.find((radio) => radio.checked);
            if (checked && checked.value === "sources") {
                return ["computed", null];
            }
            const numbers = ["left", "center", "right"].map((name) => {
                const input = field(`bias_rating-0-${name}`);
                return input ? input.value.trim() : "";
            });
            if (numbers.every(Boolean)) {
                return ["editorial", numbers];
            }
            // Left empty: computed from the sources (BiasRatingForm.clean).
            return numbers.some(Boolean) ? ["incomplete", null] : ["computed", null];
        }

        function update() {
            const rows = chosenRows();
            const chosen = voices(rows);
            const split = splitFromLeans(chosen);
            let x = 0;
            for (const [side] of SIDES) {
                const value = split ? split[side] : 0;
                const rect = document.getElementById(`sources-bias-${side}`);
                rect.setAttribute("x", String(x));
                rect.setAttribute("width", String(value));
                x += value;
            }
            const copies = rows.filter((row) => row[2]).length;
            const figures = document.getElementById("sources-bias-figures");
            figures.textContent = figuresText(split, chosen.length, copies);
            const unrated = split ? split.unrated : chosen.length;
            const unratedLine = document.getElementById("sources-bias-unrated");
            unratedLine.textContent = unratedText(unrated);
            unratedLine.hidden = unrated === 0;
            const [method, numbers] = ratingMethod();
            const methodLine = document.getElementById("sources-bias-method");
            methodLine.dataset.method = method;
            methodLine.textContent = methodText(method, numbers);
        }

        const watched = /^(article_sources|bias_rating)-/;
        if ($) {
            // select2 announces picks with jQuery events, which native listeners never see.
            $(document).on("change select2:select select2:unselect select2:clear", "select, input", (event) => {
                const data = event.params && event.params.data;
                if (data && data.lean && data.id !== undefined) {
                    leans[String(data.id)] = data.lean;
                }
                if (watched.test(event.target.name || "")) {
                    update();
                }
            });
        } else {
            document.addEventListener("change", (event) => {
                if (watched.test(event.target.name || "")) {
                    update();
                }
            });
        }
        document.addEventListener("input", (event) => {
            if (/^bias_rating-0-(left|center|right)$/.test(event.target.name || "")) {
                update();
            }
        });
        for (const name of ["formset:added", "formset:removed"]) {
            document.addEventListener(name, (event) => {
                if (["article_sources", "bias_rating"].includes(event.detail && event.detail.formsetName)) {
                    update();
                }
            });
        }
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();

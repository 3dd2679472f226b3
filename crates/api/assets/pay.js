// dealerpay card form enhancement. The form works without this script (the server checks
// everything again); this adds brand detection, Luhn checking as the customer types, input
// formatting, focus on the error summary, and a guard against double submission.
// It never sends card data anywhere: the form posts to our own server.
(function () {
  "use strict";

  function digits(s) { return s.replace(/\D/g, ""); }

  function luhn(d) {
    var sum = 0, alt = false;
    for (var i = d.length - 1; i >= 0; i--) {
      var n = d.charCodeAt(i) - 48;
      if (alt) { n *= 2; if (n > 9) n -= 9; }
      sum += n; alt = !alt;
    }
    return d.length >= 12 && sum % 10 === 0;
  }

  function brand(d) {
    var n2 = parseInt(d.slice(0, 2), 10), n4 = parseInt(d.slice(0, 4), 10), n6 = parseInt(d.slice(0, 6), 10);
    if (/^4/.test(d)) return "Visa";
    if ((n2 >= 51 && n2 <= 55) || (n6 >= 222100 && n6 <= 272099)) return "Mastercard";
    if (n2 === 34 || n2 === 37) return "American Express";
    if (n4 === 6011 || n2 === 65 || (n6 >= 644000 && n6 <= 649999)) return "Discover";
    return "";
  }

  function setError(input, message) {
    var box = document.getElementById(input.id + "-error");
    if (!box) return;
    box.textContent = message || "";
    if (message) { input.setAttribute("aria-invalid", "true"); }
    else { input.removeAttribute("aria-invalid"); }
  }

  function checkNumber(input, form) {
    var d = digits(input.value);
    if (d.length < 12 || d.length > 19) return form.dataset.errNumber;
    if (!luhn(d)) return form.dataset.errLuhn;
    return "";
  }

  function checkExpiry(input, form) {
    var m = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(input.value);
    if (!m) return form.dataset.errExpiry;
    var month = parseInt(m[1], 10), year = parseInt(m[2], 10);
    if (year < 100) year += 2000;
    if (month < 1 || month > 12) return form.dataset.errExpiry;
    var now = new Date();
    if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) return form.dataset.errExpired;
    return "";
  }

  function checkCvc(input, form) {
    return /^\d{3,4}$/.test(input.value.trim()) ? "" : form.dataset.errCvc;
  }

  function checkZip(input, form) {
    return /^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$/.test(input.value.trim()) ? "" : form.dataset.errZip;
  }

  function init() {
    var summary = document.getElementById("form-error");
    if (summary) summary.focus();
    var form = document.getElementById("pay-form");
    if (!form) return;
    var number = document.getElementById("card-number");
    var expiry = document.getElementById("card-expiry");
    var cvc = document.getElementById("card-cvc");
    var zip = document.getElementById("card-zip");
    var brandBox = document.getElementById("card-brand");
    var checks = [[number, checkNumber], [expiry, checkExpiry], [cvc, checkCvc], [zip, checkZip]];

    number.addEventListener("input", function () {
      var d = digits(number.value).slice(0, 19);
      var groups = d.match(/.{1,4}/g);
      var formatted = groups ? groups.join(" ") : "";
      if (formatted !== number.value) number.value = formatted;
      if (brandBox) brandBox.textContent = brand(d);
      if (number.getAttribute("aria-invalid") && !checkNumber(number, form)) setError(number, "");
    });
    expiry.addEventListener("input", function () {
      // 1226 → 12/26 as the customer types; anything else is left as typed.
      if (/^\d{3,4}$/.test(expiry.value)) expiry.value = expiry.value.slice(0, 2) + "/" + expiry.value.slice(2);
    });
    checks.forEach(function (pair) {
      var input = pair[0], check = pair[1];
      if (!input) return;
      input.addEventListener("blur", function () {
        if (input.value.trim() !== "") setError(input, check(input, form));
      });
    });
    form.addEventListener("submit", function (ev) {
      var first = null;
      checks.forEach(function (pair) {
        if (!pair[0]) return;
        var msg = pair[1](pair[0], form);
        setError(pair[0], msg);
        if (msg && !first) first = pair[0];
      });
      if (first) { ev.preventDefault(); first.focus(); return; }
      var button = document.getElementById("pay-button");
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
      if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
    });
  }

  // Coming back with the Back button must not leave the button disabled.
  window.addEventListener("pageshow", function (ev) {
    var form = document.getElementById("pay-form"), button = document.getElementById("pay-button");
    if (ev.persisted && form && button) { delete form.dataset.sent; button.disabled = false; button.removeAttribute("aria-busy"); }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

// The hosted sign-in pages' passkey forms (served next to @simplewebauthn/browser, which defines
// SimpleWebAuthnBrowser). A form marked data-passkey carries its ceremony's options in a JSON data
// block; submitting it runs the ceremony and posts the browser's response in the form's `passkey`
// field. Without WebAuthn the forms stay hidden and the pages work as before.
(function () {
  'use strict';
  var webauthn = window.SimpleWebAuthnBrowser;
  if (!webauthn || !webauthn.browserSupportsWebAuthn()) return;

  document.querySelectorAll('form[data-passkey]').forEach(function (form) {
    var options = JSON.parse(form.querySelector('script[type="application/json"]').textContent);
    var status = form.querySelector('[data-passkey-status]');
    var busy = false;
    form.hidden = false;
    if (form.hasAttribute('data-focus')) form.querySelector('button').focus();
    form.addEventListener('submit', function (event) {
      if (form.elements.passkey.value) return;
      event.preventDefault();
      if (busy) return;
      busy = true;
      status.textContent = '';
      var ceremony =
        form.dataset.passkey === 'register'
          ? webauthn.startRegistration({ optionsJSON: options })
          : webauthn.startAuthentication({ optionsJSON: options });
      ceremony.then(
        function (response) {
          form.elements.passkey.value = JSON.stringify(response);
          form.submit();
        },
        function (error) {
          busy = false;
          status.textContent =
            error && error.name === 'NotAllowedError'
              ? 'The passkey request was cancelled or timed out. Try again.'
              : 'The passkey could not be used. Try again, or use another way to sign in.';
        },
      );
    });
  });

  // Passkey autofill (WebAuthn conditional mediation): where the browser lists passkeys among the
  // identifier field's suggestions, choosing one signs in as the form marked data-passkey-autofill
  // does, with its challenge. Its button's own ceremony cancels this one (SimpleWebAuthn keeps one
  // WebAuthn call at a time), and so does leaving the page: both are expected, not errors.
  var autofill = document.querySelector('form[data-passkey-autofill]');
  if (autofill) {
    webauthn.browserSupportsWebAuthnAutofill().then(function (supported) {
      if (!supported) return;
      var options = JSON.parse(autofill.querySelector('script[type="application/json"]').textContent);
      webauthn.startAuthentication({ optionsJSON: options, useBrowserAutofill: true }).then(
        function (response) {
          autofill.elements.passkey.value = JSON.stringify(response);
          autofill.submit();
        },
        function () {},
      );
    });
  }

  // Tells the server that this device has a passkey provider of its own, so that it may offer to
  // add a passkey once the person has signed in.
  var capable = document.querySelector('input[name="passkeyCapable"]');
  if (capable) {
    webauthn.platformAuthenticatorIsAvailable().then(function (available) {
      if (available) capable.value = 'yes';
    });
  }
})();

// Scan a resident's pickup-code QR with the phone camera and submit it through the code form.
// The browser's BarcodeDetector where it exists (Android Chrome); elsewhere (iOS Safari, desktop) the
// vendored jsQR 1.4.0 decodes camera frames. Typing the code stays the fallback in every case.
(function () {
  "use strict";
  var button = document.getElementById("scan-code");
  if (!button) return;
  var form = document.getElementById("code-check");
  var input = form.querySelector("input[name=code]");
  var panel = document.getElementById("scanner");
  var video = panel.querySelector("video");
  var status = panel.querySelector(".scan-status");
  var stream = null;
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
    button.hidden = true;  // no camera API (or not a secure origin): typing it is
    return;
  }

  function codeOf(text) {
    // Our QR codes hold the plain code; keep only its digits in case a reader adds anything around it.
    var digits = (text || "").replace(/\D/g, "");
    return digits.length >= 4 ? digits : null;
  }

  function stop() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    panel.hidden = true;
  }

  function found(code) {
    stop();
    input.value = code;
    form.submit();
  }

  function detectWith(detector) {
    if (!stream) return;
    detector.detect(video).then(function (codes) {
      var code = codes.length ? codeOf(codes[0].rawValue) : null;
      if (code) found(code); else requestAnimationFrame(function () { detectWith(detector); });
    }).catch(function () { requestAnimationFrame(function () { detectWith(detector); }); });
  }

  function withJsQR(then) {
    // 250 kB, so fetched only on phones without BarcodeDetector, on the first scan.
    if (window.jsQR) return then();
    var script = document.createElement("script");
    script.src = button.dataset.jsqr;
    script.onload = then;
    document.head.appendChild(script);
  }

  function decodeFrame() {
    if (!stream) return;
    if (video.readyState === video.HAVE_ENOUGH_DATA && window.jsQR) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var result = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      var code = result ? codeOf(result.data) : null;
      if (code) return found(code);
    }
    requestAnimationFrame(decodeFrame);
  }

  button.addEventListener("click", function () {
    panel.hidden = false;
    status.textContent = status.dataset.starting;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.setAttribute("playsinline", "");
      return video.play();
    }).then(function () {
      status.textContent = status.dataset.aim;
      if ("BarcodeDetector" in window) {
        window.BarcodeDetector.getSupportedFormats().then(function (formats) {
          if (formats.indexOf("qr_code") >= 0) detectWith(new window.BarcodeDetector({ formats: ["qr_code"] }));
          else withJsQR(decodeFrame);
        });
      } else {
        withJsQR(decodeFrame);
      }
    }).catch(function () {
      stop();
      status.textContent = status.dataset.denied;
      panel.hidden = false;
      input.focus();
    });
  });
  panel.querySelector(".scan-cancel").addEventListener("click", stop);
  window.pickupScanner = { codeOf: codeOf, found: found };  // for the browser tests
})();

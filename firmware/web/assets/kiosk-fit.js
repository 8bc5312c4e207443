/*
 * kiosk-fit.js — the kiosk at any screen size. kiosk.css lays the kiosk out
 * on a design canvas of at least 1080x1920 (portrait) or 1920x1080
 * (landscape, body.landscape); this scales the canvas to the screen, whole,
 * and stretches it along the screen's longer side so the page fills it.
 * A kiosk's screen is fixed, so this only has to follow a resize (a rotated
 * panel, a test's viewport). Every control then keeps its place relative to
 * the others: nothing slides under the footer or off the screen.
 */
'use strict';

(function () {
    function fit() {
        const vw = window.innerWidth || 1080;
        const vh = window.innerHeight || 1920;
        const land = vw > vh;
        const s = Math.min(vw / (land ? 1920 : 1080), vh / (land ? 1080 : 1920));
        const b = document.body;
        b.classList.toggle('landscape', land);
        b.style.width = vw / s + 'px';
        b.style.height = vh / s + 'px';
        b.style.transform = 'scale(' + s + ')';
    }
    window.addEventListener('resize', fit);
    fit();
})();

/*
 * index.js — the landing page: the hall's name and one link per window,
 * from /api/v1/status. Names are set as text, never markup.
 */
'use strict';

(async function () {
    let st;
    try {
        const r = await fetch('/api/v1/status', { cache: 'no-store' });
        if (!r.ok) return;
        st = await r.json();
    } catch (e) {
        return; /* the static links stay */
    }
    const hall = st.hall || {};
    if (hall.name) document.getElementById('hall-name').textContent = hall.name;
    if (hall.name_en) document.getElementById('hall-name-en').textContent = hall.name_en;
    if (hall.name) document.title = hall.name + ' · hallq';
    const ul = document.getElementById('windows');
    const items = [];
    for (const w of st.windows || []) {
        if (typeof w.number !== 'number') continue;
        const a = document.createElement('a');
        a.href = '/display/window/' + w.number;
        a.append(w.name || w.number + '号窗口');
        const en = document.createElement('small');
        en.textContent = w.name_en || 'Window ' + w.number;
        a.append(en);
        const li = document.createElement('li');
        li.append(a);
        items.push(li);
    }
    if (items.length) ul.replaceChildren(...items);
})();

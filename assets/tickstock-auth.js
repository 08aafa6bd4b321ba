// When a Dash callback answers 401 (the session ended: logout elsewhere, idle or
// absolute timeout), go to the login page instead of leaving a frozen view.
(function () {
    if (!window.fetch || window.__tickstockAuthFetch) { return; }
    window.__tickstockAuthFetch = true;
    const original = window.fetch.bind(window);
    window.fetch = function (input, init) {
        return original(input, init).then(function (response) {
            const url = typeof input === 'string' ? input : (input && input.url) || '';
            if (response.status === 401 && url.indexOf('_dash-update-component') !== -1
                && window.location.pathname !== '/login') {
                const next = window.location.pathname + window.location.search;
                window.location.assign('/login?next=' + encodeURIComponent(next));
            }
            return response;
        });
    };
})();

vcl 4.1;
# Shellac's default VCL: one app server on this machine, and the policies most sites want.
# Run it with:   shellacd -a 127.0.0.1:6081 -f config/default.vcl
# Check it with: shellacd -C -f config/default.vcl
# Whatever a subroutine here does not decide falls through to the builtin VCL
# (`shellacd -x builtin` prints it): GET/HEAD without cookies or Authorization are cached
# for as long as the response's Cache-Control allows.

import std;

# The app server. Change .host/.port (or use .path = "/run/app.sock" for a Unix socket).
backend default {
    .host = "127.0.0.1";
    .port = "8000";
    .connect_timeout = 3.5s;
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 60s;
}

# Who may send PURGE and BAN requests.
acl purgers {
    "localhost";
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # PURGE /path evicts that URL (every variant); BAN with an X-Ban-Url header bans a regex.
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(405, "Not allowed"));
        }
        return (purge);
    }
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(405, "Not allowed"));
        }
        if (!req.http.X-Ban-Url) {
            return (synth(400, "BAN needs an X-Ban-Url header (a regex)"));
        }
        ban("req.http.host == " + req.http.host + " && req.url ~ " + req.http.X-Ban-Url);
        return (synth(200, "Banned"));
    }

    # Tracking parameters change nothing on the page: strip them so every campaign link
    # shares one cached copy, and sort the rest so ?a=1&b=2 and ?b=2&a=1 are one object.
    if (req.url ~ "(\?|&)(utm_[a-z]+|gclid|fbclid|mc_cid|mc_eid|_ga)=") {
        set req.url = regsuball(req.url, "(utm_[a-z]+|gclid|fbclid|mc_cid|mc_eid|_ga)=[^&]*&?", "");
        set req.url = regsub(req.url, "[?&]$", "");
    }
    set req.url = std.querysort(req.url);

    # Static files are the same for everyone: cookies would only make them uncacheable.
    if (req.url ~ "(?i)\.(css|js|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|map)(\?.*)?$") {
        unset req.http.Cookie;
    }
}

sub vcl_backend_response {
    # Static files: cache for a day even if the app forgot to say so.
    if (bereq.url ~ "(?i)\.(css|js|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|map)(\?.*)?$") {
        unset beresp.http.Set-Cookie;
        if (beresp.ttl <= 0s) {
            set beresp.ttl = 1d;
        }
    }
    # Grace: when the app is slow or down, serve a copy up to 6 hours stale
    # (refreshed in the background) instead of making visitors wait or see errors.
    set beresp.grace = 6h;
}

sub vcl_deliver {
    # Say whether the response came from the cache (handy when debugging; remove if unwanted).
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}

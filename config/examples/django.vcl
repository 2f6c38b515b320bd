vcl 4.1;
# Shellac in front of a Django app (gunicorn/uWSGI on 127.0.0.1:8000).
#   shellacd -a :80 -f config/examples/django.vcl
# - Only Django's own cookies (sessionid, csrftoken) reach the app; analytics and other
#   client-side cookies are stripped, so they do not make every page uncacheable.
# - Logged-in users (a sessionid cookie) and the admin always go to the app.
# - Anonymous pages are cached briefly (10 s) with a long grace (1 h): a burst of traffic
#   costs the app one request per page every 10 s, and a slow or failing app is hidden
#   behind the last good copy.
# - /static/ and /media/ are cached for a day, without cookies.

import std;

backend django {
    .host = "127.0.0.1";
    .port = "8000";
    .first_byte_timeout = 30s;
}

sub vcl_recv {
    if (req.url ~ "^/(static|media)/") {
        unset req.http.Cookie;
        return (hash);
    }
    if (req.url ~ "^/admin") {
        return (pass);
    }
    if (req.http.Cookie) {
        # Keep only sessionid and csrftoken, in a clean "a=1; b=2" form.
        set req.http.Cookie = ";" + req.http.Cookie;
        set req.http.Cookie = regsuball(req.http.Cookie, "; +", ";");
        set req.http.Cookie = regsuball(req.http.Cookie, ";(sessionid|csrftoken)=", "; \1=");
        set req.http.Cookie = regsuball(req.http.Cookie, ";[^ ][^;]*", "");
        set req.http.Cookie = regsuball(req.http.Cookie, "^[; ]+|[; ]+$", "");
        if (req.http.Cookie == "") {
            unset req.http.Cookie;
        }
    }
    if (req.http.Cookie ~ "(^|; )sessionid=") {
        return (pass);
    }
    if (req.method == "GET" || req.method == "HEAD") {
        # Anonymous: cacheable even with a csrftoken cookie. Django answers pages that use
        # the token with "Vary: Cookie", so each token gets its own copy of those pages.
        if (!req.http.Authorization) {
            return (hash);
        }
    }
}

sub vcl_backend_response {
    if (bereq.url ~ "^/(static|media)/") {
        unset beresp.http.Set-Cookie;
        set beresp.ttl = 1d;
        set beresp.grace = 1d;
        return (deliver);
    }
    # Django sends no Cache-Control for most views: cache anonymous pages for 10 s.
    if (beresp.status == 200 && !beresp.http.Cache-Control && !beresp.http.Set-Cookie) {
        set beresp.ttl = 10s;
    }
    set beresp.grace = 1h;
}

sub vcl_deliver {
    unset resp.http.Server;
}

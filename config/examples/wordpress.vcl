vcl 4.1;
# Shellac in front of WordPress (PHP-FPM behind a web server on 127.0.0.1:8080).
#   shellacd -a :80 -f config/examples/wordpress.vcl
# - Logged-in users, commenters and password-protected posts go to WordPress; everyone else
#   gets cached pages, with all other cookies stripped.
# - Purging, from the addresses in `purgers` only (a cache plugin sends these):
#     PURGE /path                       evicts that URL
#     BAN / with X-Cache-Tags: post-42  evicts every page tagged post-42 (the theme or plugin
#                                       lists a page's tags in its X-Cache-Tags response header)
#     BAN /blog/.* without a tag        evicts every URL matching the regex on this host
# - Pages are cached 5 minutes unless WordPress says otherwise; 12 hours of grace.

backend wordpress {
    .host = "127.0.0.1";
    .port = "8080";
    .first_byte_timeout = 60s;
}

acl purgers {
    "localhost";
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (!client.ip ~ purgers) {
            return (synth(405, "Not allowed"));
        }
        return (purge);
    }
    if (req.method == "BAN") {
        if (!client.ip ~ purgers) {
            return (synth(405, "Not allowed"));
        }
        if (req.http.X-Cache-Tags) {
            ban("obj.http.X-Cache-Tags ~ (^|[[:space:],])" + req.http.X-Cache-Tags + "($|[[:space:],])");
        } else {
            ban("req.http.host == " + req.http.host + " && req.url ~ " + req.url);
        }
        return (synth(200, "Ban added"));
    }
    if (req.url ~ "/wp-(admin|login|cron)|preview=true|/xmlrpc\.php") {
        return (pass);
    }
    if (req.http.Cookie ~ "wordpress_logged_in_|comment_author_|wp-postpass_") {
        return (pass);
    }
    unset req.http.Cookie;
}

sub vcl_backend_response {
    if (bereq.url !~ "/wp-(admin|login)") {
        unset beresp.http.Set-Cookie;
    }
    if (beresp.status == 200 && beresp.ttl <= 0s && !beresp.http.Cache-Control) {
        set beresp.ttl = 5m;
    }
    set beresp.grace = 12h;
}

sub vcl_deliver {
    # Tags are for the cache, not for visitors.
    unset resp.http.X-Cache-Tags;
    unset resp.http.X-Powered-By;
}

vcl 4.1;
import geoip; # error: module 'geoip' is not available
backend default { .host = "127.0.0.1"; }
sub vcl_recv {
    set req.http.X = std.tolower(req.url); # error: 'std' is used without 'import std;'
}

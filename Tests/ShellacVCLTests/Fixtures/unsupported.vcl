vcl 4.1;
backend default { .host = "127.0.0.1"; }
C{ #include <stdio.h> }C # error: inline C (C{ … }C) is not supported
sub vcl_recv {
    return (vcl(other)); # error: return(vcl(LABEL)) is not supported
}
sub vcl_backend_response {
    set beresp.do_esi = true; # warning: 'beresp.do_esi' is ignored
}
sub vcl_backend_fetch {
    set bereq.proto = "HTTP/1.0"; # warning: 'bereq.proto' is ignored
}

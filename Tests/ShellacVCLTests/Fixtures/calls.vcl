vcl 4.1;
backend default { .host = "127.0.0.1"; }
sub a { call b; }
sub b { call a; } # error: recursive call to 'a'
sub vcl_recv {
    call a;
    call nowhere; # error: call to undefined subroutine 'nowhere'
}
sub lonely { } # warning: subroutine 'lonely' is never called

// Written the way dink (github.com/wildwinter/dink) writes voiced ink: speakers in capitals, qualifiers
// after the name, directions in brackets at the start of the text, an #id: on every line, #vo: tags.
-> cellar

=== cellar ===
# title: The Cellar
(SFX) A door slams somewhere above. #id:cellar_sfx
FRED: (quietly) Did you hear that? #id:cellar_fred_hear
LAURA (O.S.): Down here, Fred. #id:cellar_laura_os
// Fred is trying to sound brave.
FRED: (angrily) Who is there? #id:cellar_fred_who #vo:loud
LAURA (radio): (whispering) Stay where you are. #id:cellar_laura_radio
The lamp flickers and steadies. #id:cellar_lamp
FRED: {shuffle: Right.|Fine.|Okay then.} #id:cellar_fred_ok
* [Wait for her] -> wait
* [Climb the stairs] -> climb

=== wait ===
FRED: (beat) We wait here. #id:wait_fred
-> END

=== climb ===
LAURA: (shouting) Run, Fred! #id:climb_laura
-> END

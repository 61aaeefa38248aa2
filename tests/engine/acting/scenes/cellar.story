// The dink-style fixture (tests/engine/ink/dink) in our scene format: the same lines, ids and directions.
=== cellar: The Cellar ===
(SFX) A door slams somewhere above. #cellar_sfx
@fred: (quietly) Did you hear that? #cellar_fred_hear
@laura (O.S.): Down here, Fred. #cellar_laura_os
// Fred is trying to sound brave.
@fred: (angrily) Who is there? #cellar_fred_who #vo:loud
@laura (radio): (whispering) Stay where you are. #cellar_laura_radio
The lamp flickers and steadies. #cellar_lamp
@fred: Right. #cellar_fred_ok
* Wait for her -> wait
* Climb the stairs -> climb

=== wait ===
@fred: (beat) We wait here. #wait_fred
-> END The Wait

=== climb ===
@laura: (shouting) Run, Fred! #climb_laura
-> END The Climb

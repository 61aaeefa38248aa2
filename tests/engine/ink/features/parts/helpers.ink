=== riddle ===
SCRIBE: What walks on four legs in the morning? #id:riddle_q
->->

=== function shout(word) ===
~ return word + "!"

// The Last Light: a short ink story for voiced-if.
// Edit it in Inky, then File > Export to JSON as story.ink.json (or: make ink).
INCLUDE cellar.ink

VAR oil = 1
VAR trust = 0
VAR knows_name = false

-> gallery

=== function cans(n) ===
{
- n == 0:
    ~ return "not a drop"
- n == 1:
    ~ return "one can"
- else:
    ~ return "{n} cans"
}

=== gallery ===
# title: The Lamp Gallery
The storm has been at the glass since dusk. #id:gal_storm
KEEPER: Forty years I have kept this light, and never lost a ship. #id:gal_forty
-> talk

= talk
KEEPER: We have {cans(oil)} of oil left. #id:gal_oil
* [Ask her name]
    You ask the keeper her name. #id:gal_ask
    ~ knows_name = true
    ~ trust += 1
    Agnes: Agnes. Nobody has asked me that in a long while. #id:gal_agnes
    -> talk
* [Look out to sea]
    Far out, a mast lurches between the waves. #id:gal_mast
    SAILOR: Help! Is anyone up there? #id:gal_help #speaker:sailor
    -> talk
+ {oil > 0} [Trim the wick]
    ~ oil -= 1
    The flame stands up straight and white. #id:gal_trim
    -> talk
* {oil == 0} [Go down for more oil]
    -> cellar ->
    -> shore
* -> shore

=== shore ===
# title: The Rocks Below
The sea throws a young sailor onto the rocks below the tower. #id:sho_rocks
Ren: I followed your light. All the way in, I followed it. #id:sho_followed
* {knows_name} [Tell him whose light it is]
    You tell him the light is Agnes's, and has been for forty years. #id:sho_whose
    Agnes: It was never only mine. #id:sho_never
    -> warm
* [Give him your coat]
    You wrap him in your coat. #id:sho_coat
    ~ trust += 1
    -> warm
* [Leave him and climb back to the lamp]
    -> dark

= warm
- The three of you sit out the storm by the lamp. #id:sho_sit
{trust > 1:
    KEEPER: Forty years, and one ship saved. That will do. #id:sho_enough #ending:The Light Holds
- else:
    REN: I will come back in the spring and help you paint it. #id:sho_spring #ending:A Promise in the Spring
}
-> END

= dark
You climb the stairs alone, counting them as you go. #id:sho_climb
By morning the rocks are empty. #id:sho_empty #ending:The Empty Rocks
-> END

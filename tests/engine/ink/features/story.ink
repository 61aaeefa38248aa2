# author: The voiced-if tests
# theme: dark
INCLUDE parts/helpers.ink
VAR coins = 0
VAR paid = false
-> hall

=== hall ===
# title: The Hall
The hall is quiet. #id:hall_quiet
GUIDE: Welcome, traveller. #id:hall_welcome
guide: Mind the step.
Tariq: I am called Tariq. #id:hall_name
KNOCK: a sound at the door, not a speaker. #id:hall_knock
-> menu

= menu
<- bell
* [Take a coin] You take a coin. #id:took_coin
    ~ coins += 1
    -> menu
+ [Count the coins]
    You have {coins} {coins == 1: coin|coins}. #speaker:scribe
    -> menu
* {coins > 0} Pay the guide #id:paid_guide
    ~ paid = true
    -> gate
* [Walk past the guide] -> gate

=== bell ===
* [Ring the bell] The bell rings. #id:bell_rang
    -> hall.menu

=== gate ===
# title: The Gate
{paid:
    GUIDE: Thank you kindly. #id:gate_thanks
- else:
    The guide frowns. #id:gate_frown
}
-> riddle ->
- (after) The gate swings open. #id:gate_open
{shout("Hello")}
* [Go through] -> through
* [Turn back]
    You turn back. #id:turn_back #speaker: narrator
    -> DONE

= through
SCRIBE: The end of the road. #id:gate_end #ending:Through the Gate
-> END

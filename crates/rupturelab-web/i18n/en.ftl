# RuptureLab participant pages: English.
# Keep the keys and { $variables } identical in tr.ftl (a test checks it).

page-title = { $study } — study
progress = Step { $n } of { $total }
back = Back
next = Next
continue = Continue

welcome-title = Welcome
consent-title = Consent
consent-accept = I agree to take part
consent-decline = I do not agree
consent-needed = Please agree to take part before you continue.
declined-title = You chose not to take part
declined-body = Thank you. No answers will be collected. If you change your mind, you can go back to the consent page.
declined-back = Back to the consent page

about-title = About you
about-intro = These questions describe your professional background. They are stored under a pseudonymous code, never with your name.
required = required
choose = Choose…
yes = Yes
no = No
field-required = Please answer this question.
field-invalid = Please check this answer.

segment-title = Segment { $n } of { $total }
transcript = Transcript
recording = Recording
recording-window = Play from { $start } to { $end }.
questions = Questions
scale-hint = From { $min } to { $max }

once-title = A few more questions

review-title = Review your answers
review-intro = Check your answers. You can go back and change them until you submit.
review-unanswered = not answered
review-change = Change
submit = Submit my answers
submit-warning = After you submit, your answers can no longer be changed.

thanks-title = Thank you
thanks-body = Your answers have been saved. You can close this window.
locked = Your answers were submitted and can no longer be changed.

save-idle = Your answers are saved as you type.
save-saving = Saving…
save-saved = Saved
save-error = Not saved yet — trying again. Your text is still here.
nojs-hint = Your answers are saved when you press Next or Back.

unknown-link-title = This study link is not valid
unknown-link-body = Check that you copied the whole link, or ask the study team for a new one.

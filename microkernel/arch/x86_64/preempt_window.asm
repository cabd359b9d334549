; The interrupt window of a preemption point (task/preempt.c).
;
; The kernel runs with interrupts off; a long operation calls
; preempt_window every so often to let a pending interrupt in. sti holds
; interrupts off for one more instruction (its shadow), so a pending
; interrupt is taken after the nop, with the saved rip at
; preempt_window_resume: that is how the timer handler tells a preemption
; point from any other kernel code (preempt_at), and only there may it
; switch to another thread.

bits 64
default rel

global preempt_window
global preempt_window_resume

section .text

preempt_window:
    sti
    nop                     ; sti's shadow: the interrupt is taken after it
preempt_window_resume:
    cli
    ret

section .note.GNU-stack noalloc noexec nowrite progbits

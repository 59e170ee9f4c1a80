/* Absolute addresses in the executable's .text (a PIE linked with -z notext). */
	.text
	.globl exe_text_addr_b, exe_text_addr_own
	.type exe_text_addr_b, @function
exe_text_addr_b:
	movabs $b_data, %rax
	ret
	.size exe_text_addr_b, . - exe_text_addr_b
	.type exe_text_addr_own, @function
exe_text_addr_own:
	movabs $exe_text_own, %rax
	ret
	.size exe_text_addr_own, . - exe_text_addr_own
	.data
	.globl exe_text_own
	.hidden exe_text_own
exe_text_own:
	.quad 88
	.section .note.GNU-stack, "", @progbits

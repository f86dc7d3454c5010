/** Lengths the sign-up form and the auth server both hold to (the server is the one that counts). */
export const NAME_MAX_LENGTH = 100; // the name goes into every token the back end reads
export const EMAIL_MAX_LENGTH = 254; // the longest address SMTP carries (RFC 5321)
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128; // better-auth's own maximum

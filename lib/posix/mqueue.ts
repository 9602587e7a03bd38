// The mqueue family of the posix layer (to be written).
export {};

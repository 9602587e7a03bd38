// The sync family of the posix layer (to be written).
export {};

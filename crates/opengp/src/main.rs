mod bench;
mod database;
mod demo;

fn main() {}

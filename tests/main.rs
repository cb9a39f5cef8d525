mod capture;
mod case;
mod check;
mod crawl;
mod demo;
mod evidence;
mod schedule;
mod sweep;

mod capture;
mod check;
mod crawl;
mod evidence;
mod schedule;

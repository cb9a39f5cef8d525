mod capture;
mod crawl;
mod evidence;
mod schedule;

mod capture;
mod case;
mod check;
mod crawl;
mod evidence;
mod schedule;
mod sweep;

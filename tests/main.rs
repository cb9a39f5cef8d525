mod capture;
mod crawl;

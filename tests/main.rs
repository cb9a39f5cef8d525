mod schedule;
mod evidence;

mod case;
mod evidence;

mod case;

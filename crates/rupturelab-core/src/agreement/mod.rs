//! Agreement between coders: every coefficient, its standard error and confidence interval.

"""IPsec (course 1.3.2): the kernel's security policies and associations (xfrm)."""
